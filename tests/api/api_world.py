"""The API tests' world: centres of one county and its neighbour, their tokens, a client.

A module of its own rather than conftest.py: several conftest modules exist in this tree,
so ``from conftest import …`` would import whichever pytest loaded first.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gridflow.api.context import ApiContext
from gridflow.api.sink import MemorySink
from gridflow.api.tokens import Role, Token

VILLAGE = "500103001003"
OTHER_VILLAGE = "500103001006"
TOWN = "500103001000"
COUNTY = "500103000000"
OTHER_COUNTY = "500104000000"
OTHER_COUNTY_VILLAGE = "500104001001"
CITY = "500000000000"
#: verifying department offices (catalogue.yaml offices:): 渝中区住建委质监站, and 大渡口区's
ZJZ = "500103000000-zjz"
OTHER_ZJZ = "500104000000-zjz"

#: secret -> token, one of each kind the tests need.
TOKENS = {
    "t-village": Token("village", Role.CENTRE, VILLAGE),
    "t-other-village": Token("other-village", Role.CENTRE, OTHER_VILLAGE),
    "t-town": Token("town", Role.CENTRE, TOWN),
    "t-county": Token("county", Role.CENTRE, COUNTY),
    "t-other-county": Token("other-county", Role.CENTRE, OTHER_COUNTY),
    "t-city": Token("city", Role.CENTRE, CITY),
    "t-zjz": Token("zjz", Role.CENTRE, ZJZ),
    "t-other-zjz": Token("other-zjz", Role.CENTRE, OTHER_ZJZ),
    "t-app": Token("app", Role.FIELD_APP, COUNTY),
    "t-ops": Token("ops", Role.OPS, CITY),
    "t-ops-other": Token("ops-other", Role.OPS, OTHER_COUNTY),
}


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Api:
    ctx: ApiContext
    client: httpx.AsyncClient
    sink: MemorySink
