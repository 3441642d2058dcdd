-- Run by the postgres image once, when its data volume is first created
-- (files in /docker-entrypoint-initdb.d/). POSTGRES_DB already created `bot`
-- (knowledge base, insights, SMS tables: DATABASE_URL); this adds the database
-- for Rasa's SQL tracker store (conversations: TRACKER_DATABASE_URL), owned by
-- the same role, as `make cluster` does.
CREATE DATABASE conversations OWNER bot;
