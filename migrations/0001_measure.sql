-- Measurement (R-M1, R-M4): daily rollups of the funnel's facts, and the fact batches
-- already applied. A batch is applied in one transaction with its id recorded, so a queue
-- delivery that is retried or repeated adds nothing the second time.

-- One row per account, day (the visit's start in the account's time zone), campaign,
-- engagement and metric; campaign and engagement are '' at account level.
CREATE TABLE rollup (
  account    TEXT    NOT NULL,
  day        TEXT    NOT NULL,
  campaign   TEXT    NOT NULL,
  engagement TEXT    NOT NULL,
  metric     TEXT    NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (account, day, campaign, engagement, metric)
) WITHOUT ROWID;

-- Fact batches applied: the id, the delivery attempt that applied it (a random token), and
-- when (for pruning past the queue's retry horizon).
CREATE TABLE applied (
  id         TEXT    PRIMARY KEY,
  token      TEXT    NOT NULL,
  applied_ms INTEGER NOT NULL
) WITHOUT ROWID;
