"""Schemathesis hooks (SCHEMATHESIS_HOOKS=hooks with tests/api on PYTHONPATH, set by schemathesis.test.mjs).

R-S3 limits requests per client address. Schemathesis sends everything from one address, which
would have it probe the rate limiter instead of the API after its first few hundred cases: each
case comes from its own address, as a site's visitors do. tenancy.test.mjs tests the limits.
"""

import random

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    if case.headers is None:
        case.headers = {}
    case.headers["CF-Connecting-IP"] = address
