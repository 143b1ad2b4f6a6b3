"""The SageMaker pipeline: built offline from the same step code and settings as the local run."""
