"""`python -m benchmarks`: every figure of issue 11's targets table in one run (make bench)."""

from benchmarks.table import main

raise SystemExit(main())
