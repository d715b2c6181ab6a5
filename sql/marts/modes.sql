-- modes: described, with its grain and columns, in sql/marts/_models.yml.
SELECT mode_of_transport, description FROM ref.mode_codes ORDER BY mode_of_transport
