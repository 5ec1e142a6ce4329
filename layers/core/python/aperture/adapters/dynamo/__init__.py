"""DynamoDB repositories, one module per capability, on the shared helpers of `common`."""
