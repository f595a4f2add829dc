"""The shop's production on AWS, as a CDK app (`infra/app.py`)."""
