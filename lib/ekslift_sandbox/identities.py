"""A second person for the sandbox: the approver of a traffic shift.

Writes need an approval by someone other than the operator, told apart by STS
GetCallerIdentity. moto answers it per IAM user, so the sandbox creates one `approver`
user with its own access key and publishes the key in its environment; `make demo` runs
`ekslift shift approve` with it before the run.
"""

from __future__ import annotations

from ekslift_sandbox import seed

APPROVER = "approver"


def seed_approver(endpoint: str) -> dict[str, str]:
    iam = seed.client("iam", "us-east-1", endpoint)
    iam.create_user(UserName=APPROVER)
    key = iam.create_access_key(UserName=APPROVER)["AccessKey"]
    return {
        "EKSLIFT_SANDBOX_APPROVER_ACCESS_KEY_ID": key["AccessKeyId"],
        "EKSLIFT_SANDBOX_APPROVER_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
