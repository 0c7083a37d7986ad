from functions.charge_payment.func import new
from functions.runtime.serve import serve

serve(new, events=True)
