"""What every process shares (web, worker, CLI): settings, the database session and the schema. No Flask here."""
