"""Configuration: `env` (the one environment parser), `environment` (where
values come from: the environment wins over the stage's file defaults),
`settings` (the Settings tree of frozen slices), `access` (key and CORS
parsers)."""
