-- exam_types: described, with its grain and columns, in sql/marts/_models.yml.
SELECT exam_type, description FROM ref.exam_type_codes ORDER BY exam_type
