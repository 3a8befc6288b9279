"""Request and response models, one module per resource (`XCreate`, `XPublic`, `XsPublic`)."""
