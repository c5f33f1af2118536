"""Chaos drill: workers SIGKILLed at random under load, outputs verified end to end.

* :mod:`~tools.chaos.checker`: pure verification over collected records (no Kafka);
* :mod:`~tools.chaos.harness`: runs the scenario on a broker (``gridflow chaos``).
"""
