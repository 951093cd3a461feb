-- pgbench script: one one-row insert per transaction into the plain table.
INSERT INTO scratch (data) VALUES ('{"productId":"product-1","quantity":1}');
