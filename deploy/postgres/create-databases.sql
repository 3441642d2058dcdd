-- Run by the postgres image once, when its data volume is first created
-- (files in /docker-entrypoint-initdb.d/), as the image's superuser, which the
-- bot never uses. Two roles, neither a superuser:
--   bot_owner  owns the databases `bot` (knowledge base, insights, SMS tables:
--              DATABASE_URL) and `conversations` (Rasa's tracker store:
--              TRACKER_DATABASE_URL), and so their `public` schemas (PostgreSQL 15);
--              `python -m bot migrate` connects as it (MIGRATION_DATABASE_URL,
--              MIGRATION_TRACKER_DATABASE_URL) to create the tables and grant `bot`
--              their use;
--   bot        the servers, load-kb and purge: may connect, then read and write
--              rows (granted by migrate), never change the schema.
-- `make cluster` (scripts/cluster.sh) creates the same layout (mcbot_owner, mcbot).
-- The passwords come from the container's environment (psql 15's \getenv), set by
-- compose.yaml from deploy/bot.env.
\getenv owner_password BOT_DB_OWNER_PASSWORD
\getenv app_password BOT_DB_PASSWORD

CREATE ROLE bot_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_password';
CREATE ROLE bot LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';

CREATE DATABASE bot OWNER bot_owner;
CREATE DATABASE conversations OWNER bot_owner;
REVOKE ALL ON DATABASE bot, conversations FROM PUBLIC;
GRANT CONNECT ON DATABASE bot, conversations TO bot;

-- Nobody but the owner creates objects (already PostgreSQL 15's default for `public`).
\connect bot
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
\connect conversations
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
