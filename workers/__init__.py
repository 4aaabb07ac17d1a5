"""Job functions run by queue workers: they take ids, load state and call the pipeline."""
