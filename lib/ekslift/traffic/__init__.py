"""Step 4, traffic shift: move each region blue → green by weighted steps, judged by metrics.

Read: ``actions`` (the set of forward actions naming blue's target group, written and read
back there), ``metrics_source`` (the judge's windows from CloudWatch), ``checks`` (what is
verified before every change: readiness, backends, credentials, clock, drift),
``approval`` (who approved which plan: persons from STS, the plan by its hash),
``promotion`` (dev before prod: the lower environment's passing run, compared). Judge:
``plan`` (the steps, soaks and what they prove), ``shift`` (the loop: intent, write, read
back, soak, verdict, rollback, resume), ``retire`` (when blue may leave the forward set).
Present: ``present`` (tables, the weight history, gate findings), ``process`` (the detached
shift process the notebook starts or attaches to), ``state`` (the JSON-lines state file a
guard can reuse), ``notify``.
"""

STEP = "04-traffic-shift"
