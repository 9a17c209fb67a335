-- One database per node: agencies share no store, only Kafka topics.
CREATE DATABASE xa_nrm;
CREATE DATABASE xb_nrm;
CREATE DATABASE monitor;
