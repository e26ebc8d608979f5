"""The guard: a region half-shifted with nobody watching returns to 100 % blue by itself.

``reconcile`` is one pass of `ekslift shift guard` (the CronJob in the management cluster):
its self-test, its heartbeat, and a rollback of every region whose lease expired, whose
shift heartbeat went stale or whose alarms fire. ``handler`` is the rollback function the
composite alarm invokes. Both roll back through :func:`reconcile.roll_back`, which fences
the lease and calls the traffic step's own ``rollback``; ``cli`` is the command. The lease,
heartbeats and alarms themselves belong to the shift (``ekslift.traffic.lease``,
``ekslift.traffic.watch``), which this package sits above.
"""
