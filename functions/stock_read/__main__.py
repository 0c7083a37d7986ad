from functions.runtime.serve import serve
from functions.stock_read.func import new

serve(new, events=False)
