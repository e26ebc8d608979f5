"""The rollback function: the Lambda the region's composite alarm invokes.

CloudWatch invokes it with the alarm's state change (``source: aws.cloudwatch``,
``alarmArn``, ``region``, ``alarmData.state.value``). On ALARM it rolls the alarm's region
back exactly as the guard does (:func:`ekslift.guard.reconcile.roll_back`: fence the lease,
100 % blue on every forward action, each read back, recorded in the lease table); anything
else is answered without a write. So is an alarm no shift holds the region for: alarms a
finished shift failed to remove (its heartbeat's goes to ALARM as soon as nobody beats)
would otherwise send a region that finished on green back to a blue being retired. A lease
table that cannot be read proves no such thing: the region goes back to blue, unfenced,
recorded in the function's log.

The parameters come with the function's package (``EKSLIFT_PARAMS``, a path, default
``params.yaml`` beside the code), as the CronJob gets them from its ConfigMap: the alarm
says only which region.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ekslift import aws
from ekslift.errors import InputError
from ekslift.guard.reconcile import leftover_alarm, read_lease, roll_back
from ekslift.params import load_params

log = logging.getLogger(__name__)
PARAMS_ENV = "EKSLIFT_PARAMS"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda's entry point; returns what it did (visible in the function's log)."""
    state = event.get("alarmData", {}).get("state", {})
    if event.get("source") != "aws.cloudwatch" or state.get("value") != "ALARM":
        return {"action": "none", "reason": "not a CloudWatch alarm entering ALARM"}
    alarm_arn = str(event.get("alarmArn", ""))
    region_name = event.get("region") or alarm_arn.split(":")[3]
    params = load_params(os.environ.get(PARAMS_ENV, "params.yaml"))
    aws.configure_from(params.aws)
    names = {r.name for r in params.regions}
    if region_name not in names:
        raise InputError(
            f"the alarm {alarm_arn} is in {region_name}, which the function's parameters do not "
            f"shift (they name {', '.join(sorted(names))}); deploy it with the upgrade's params"
        )
    alarm = event["alarmData"].get("alarmName", alarm_arn)
    region = params.region(region_name)
    found = read_lease(params, region)
    leftover = leftover_alarm(region, found)
    if leftover is not None:
        log.warning("%s: %s not acted on: %s", region_name, alarm, leftover)
        return {"action": "none", "region": region_name, "reason": leftover}
    function = getattr(context, "invoked_function_arn", "the rollback function")
    reason = f"alarm {alarm} in ALARM: {state.get('reason', '')}"[:500]
    who = f"rollback function {function}"
    outcome = roll_back(params, region, reason, who, table_failure=found.failure)
    assert outcome is not None  # only a guard judging a lease stands down
    return {
        "action": outcome.status,
        "region": outcome.region,
        "share": outcome.share,
        "reason": outcome.reason,
    }
