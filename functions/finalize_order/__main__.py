from functions.finalize_order.func import new
from functions.runtime.serve import serve

serve(new, events=True)
