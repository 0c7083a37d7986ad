from functions.catalog_read.func import new
from functions.runtime.serve import serve

serve(new, events=False)
