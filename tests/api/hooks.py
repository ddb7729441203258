"""Schemathesis hooks (SCHEMATHESIS_HOOKS=hooks with tests/api on PYTHONPATH, set by schemathesis.test.mjs).

R-S3 limits requests per client address. Schemathesis sends everything from one address, which
would have it probe the rate limiter instead of the API after its first few hundred cases: each
case comes from its own address, as a site's visitors do. tenancy.test.mjs tests the limits.
"""

import itertools

import schemathesis

# A counter, not `random`: Hypothesis seeds `random` per case, which would give every case the
# same address.
_next = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    n = next(_next)
    address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
    if case.headers is None:
        case.headers = {}
    case.headers["CF-Connecting-IP"] = address
