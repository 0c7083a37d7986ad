from functions.notify_customer.func import new
from functions.runtime.serve import serve

serve(new, events=True)
