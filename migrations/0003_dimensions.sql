-- R-M1: the funnel also per line of business and per entry point. Rows at those levels have
-- campaign and engagement empty and one of the two new columns set; every other row has both
-- empty. SQLite cannot change a primary key in place: the table is rebuilt.
CREATE TABLE rollup_next (
  account          TEXT    NOT NULL,
  day              TEXT    NOT NULL,
  campaign         TEXT    NOT NULL,
  engagement       TEXT    NOT NULL,
  line_of_business TEXT    NOT NULL DEFAULT '',
  entry_point      TEXT    NOT NULL DEFAULT '',
  metric           TEXT    NOT NULL,
  n                INTEGER NOT NULL,
  PRIMARY KEY (account, day, campaign, engagement, line_of_business, entry_point, metric)
) WITHOUT ROWID;
INSERT INTO rollup_next (account, day, campaign, engagement, metric, n)
  SELECT account, day, campaign, engagement, metric, n FROM rollup;
DROP TABLE rollup;
ALTER TABLE rollup_next RENAME TO rollup;
