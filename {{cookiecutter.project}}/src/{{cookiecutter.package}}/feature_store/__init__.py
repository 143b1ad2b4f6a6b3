"""SageMaker Feature Store: feature groups defined in features/*.yaml, kept in sync with AWS,
filled through the data checks and the shared transforms, read back for training and inference."""
