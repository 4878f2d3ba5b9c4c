-- When each person last signed in (by password or single sign-on), for the operators' users page.
ALTER TABLE accounts ADD COLUMN last_signed_in_at TIMESTAMPTZ;
