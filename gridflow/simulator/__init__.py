"""Simulated field reports and simulated command centres, for demos, tests and load.

* :mod:`~gridflow.simulator.events`: a pure, seeded generator of ``grid.events.in``
  records (valid, duplicate, resend, malformed), from :mod:`~gridflow.simulator.incidents`
  and :mod:`~gridflow.simulator.places`;
* :mod:`~gridflow.simulator.producer`: sends them to Kafka at a steady rate;
* :mod:`~gridflow.simulator.centres`: answers ``grid.dispositions`` on ``grid.feedback``
  as command centres would (behaviour in :mod:`~gridflow.simulator.casework`).

Submodules are imported on demand: the generator needs no Kafka client.
"""
