from functions.admin_writes.func import new
from functions.runtime.serve import serve

serve(new, events=False)
