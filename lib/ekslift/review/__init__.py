"""Step 5 — metrics review: over the whole cutover, did green behave as well as blue, and is
blue safe to retire?

- read: :mod:`ekslift.review.read` (the window and weights from step 4's history, or from
  the parameters and the traffic itself; each region's metrics through the configured
  backend; blue's deregistration delay and stickiness from ELBv2);
- judge: :mod:`ekslift.review.judge` (each weight step judged as step 4 would have, the
  retirement checklist, gate findings);
- present: :mod:`ekslift.review.present` (plots with the weight steps marked, tables with
  every number of every verdict, artefacts).
"""

STEP = "05-metrics-review"
