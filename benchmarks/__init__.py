"""Benchmarks, one module per concern; run the two entry points from the project's root.

    python -m benchmarks.pipeline   # the code location against the floor and bare dlt
    python -m benchmarks.sandbox    # the sandbox's own speed

Neither is part of the installed package: they measure it.
"""
