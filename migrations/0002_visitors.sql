-- Visitors' histories and conversions (R-M2, R-M3, R-M5).

-- What held for a visitor in one visit, first at at_ms: 'visits' (account level: the visit
-- index erasure uses), 'held' and 'exposed' (account level with campaign '', or per campaign:
-- the control and exposed arms), 'accepted' (per engagement: what conversions are attributed
-- to). Written by the fact batches, under the same exactly-once guard as the rollups.
CREATE TABLE touch (
  account    TEXT    NOT NULL,
  visitor    TEXT    NOT NULL,
  metric     TEXT    NOT NULL,
  campaign   TEXT    NOT NULL,
  engagement TEXT    NOT NULL,
  visit      TEXT    NOT NULL,
  at_ms      INTEGER NOT NULL,
  day        TEXT    NOT NULL,
  PRIMARY KEY (account, visitor, metric, campaign, engagement, visit)
) WITHOUT ROWID;

-- The arms of a campaign (or the account) over a date range.
CREATE INDEX touch_arm ON touch (account, campaign, metric, day, visitor);

-- Conversions, once per (account, id): a repeated report adds nothing. Values in cents.
CREATE TABLE conversion (
  account     TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  visitor     TEXT    NOT NULL,
  visit       TEXT    NOT NULL,
  goal        TEXT    NOT NULL,
  value_cents INTEGER,
  currency    TEXT,
  at_ms       INTEGER NOT NULL,
  day         TEXT    NOT NULL,
  PRIMARY KEY (account, id)
) WITHOUT ROWID;

CREATE INDEX conversion_visitor ON conversion (account, visitor, at_ms);
CREATE INDEX conversion_day ON conversion (account, day);

-- Visitors erased (R-M5), until every message written before the erasure has been delivered:
-- a fact batch or conversion of an erased visitor from before that time is not stored again.
CREATE TABLE erased (
  account   TEXT    NOT NULL,
  visitor   TEXT    NOT NULL,
  erased_ms INTEGER NOT NULL,
  PRIMARY KEY (account, visitor)
) WITHOUT ROWID;

-- Click-to-call calls per visitor, so that erasing a visitor reaches its call objects while
-- they live (6 hours after the call's first status or close).
CREATE TABLE call_index (
  account  TEXT    NOT NULL,
  visitor  TEXT    NOT NULL,
  instance TEXT    NOT NULL,
  at_ms    INTEGER NOT NULL,
  PRIMARY KEY (account, visitor, instance)
) WITHOUT ROWID;
