"""The fluxgitops dynamic Pulumi provider (check / diff / create / update / delete / read)."""
