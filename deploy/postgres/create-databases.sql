-- Run once by the postgres image on first start (mounted into /docker-entrypoint-initdb.d).
-- One database per service; each service owns its own schema and reads no other service's tables.
-- The connecting role is POSTGRES_USER (procure), which owns the databases it creates here.
CREATE DATABASE demand;
CREATE DATABASE tendering;
CREATE DATABASE savings;
CREATE DATABASE web;
