from functions.dead_letters.func import new
from functions.runtime.serve import serve

serve(new, events=False)
