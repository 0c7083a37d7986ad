from functions.commit_stock.func import new
from functions.runtime.serve import serve

serve(new, events=True)
