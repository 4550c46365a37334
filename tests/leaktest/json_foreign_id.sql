-- Leak class: a JSON value of Client A holding Client B's id (no
-- declared key says so).
UPDATE app.events SET payload = jsonb_build_object('forwarded_to',
	'b0000000-0000-4000-8000-00000000000b', 'seq', 1)
WHERE id = (SELECT min(id) FROM app.events
	WHERE tenant_id = 'a0000000-0000-4000-8000-00000000000a');
