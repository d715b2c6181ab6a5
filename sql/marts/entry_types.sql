-- entry_types: described, with its grain and columns, in sql/marts/_models.yml.
SELECT entry_type, description FROM ref.entry_type_codes ORDER BY entry_type
