from functions.redrive_orders.func import new
from functions.runtime.serve import serve

serve(new, events=True)
