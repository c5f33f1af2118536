"""Tools for developing gridflow, kept out of the installed package (not in the wheel).

* :mod:`tools.bench`: the benchmark (``gridflow bench``, ``make bench``);
* :mod:`tools.chaos`: the chaos drill (``gridflow chaos``, ``make chaos``).

The ``gridflow`` commands load them from a source checkout
(:mod:`gridflow.commands.checkout_tools`).
"""
