"""Load tests that compare the stages: a Locust shopper, load shapes, a runner, a report.

python -m loadtests run monolith --shape step      # one stage (make load)
python -m loadtests compare --shape step           # every stage, one report (make compare)
python -m loadtests demo                           # every stage, short, locally (make demo)
"""
