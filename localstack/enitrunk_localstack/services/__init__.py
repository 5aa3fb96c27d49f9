"""Service providers that LocalStack community lacks, moto-backed."""
