// Package generic is the source for any signed JSON webhook: the agency's own
// website forms, portals without a preset, and platforms that follow the
// common pattern (an HMAC of the body, maybe with a timestamp, in a header;
// an event {"id", "type", "created", "data"}). How a request is signed and
// how its JSON becomes a lead are both configuration.
//
// # Verification
//
// The signature header holds one or more signatures, separated by spaces,
// and by commas too unless the prefix itself holds a comma (Standard
// Webhooks' "v1,"). Each is the prefix, when one is configured (compared
// case-insensitively; an entry without it does not count), followed by the
// hex or base64 (standard or URL alphabet, padded or not) HMAC-SHA256 or
// HMAC-SHA512 of the signed message under a secret. Any signature matching
// any secret passes, so that both sender-side and our-side key rotation
// work. All comparisons are constant time, and every pair is compared.
//
// The signed message is one of four templates over the raw body as
// received and the timestamp and id headers' values as received:
// {body}, {timestamp}{body}, {timestamp}.{body} and {id}.{timestamp}.{body}.
// With MaxClockSkew set, the timestamp header (Unix seconds, Unix
// milliseconds or RFC 3339) must be within that window of the clock; the
// window is checked after the signature.
//
// StandardWebhooks configures the Standard Webhooks 1.0 preset: webhook-id,
// webhook-timestamp (seconds) and webhook-signature "v1,<base64>" (a
// space-separated list) over {id}.{timestamp}.{body}, with whsec_ secrets.
//
// # Mapping
//
// Every setting that reads the body is a JSON pointer (RFC 6901, see
// ParsePointer): "/data/user/email", with "~1" for a "/" and "~0" for a "~"
// in a member name, and array indices as "/attendees/0".
//
//   - event_id is the dedupe identity. When it is not configured, the id
//     header's value is the event id (Standard Webhooks' webhook-id). A
//     request without an event id is an error, and so quarantined: without
//     one, a retry could not be told from a new event.
//   - type and types: when types is set, an event whose type is not listed
//     (or that has none) is one ignored event with the reason.
//   - event_time: RFC 3339 text, or Unix seconds, or Unix milliseconds
//     (numbers from 1e11 on are milliseconds), as a number or a string of
//     digits. It is the lead's occurred_at and the version that orders
//     updates of one entity (newest wins). Without it, occurred_at is the
//     timestamp header, else the receive time, and updates are not ordered:
//     a send time says nothing about the order of the changes.
//   - each points at an array: one lead per element, keyed by the event id
//     and the element's index. An empty array is one ignored event; more
//     than MaxEach elements is an error.
//   - fields maps lead fields (FieldNames) to pointers. A pointer is
//     absolute, from the root of the body. A pointer that starts with the
//     each pointer followed by "-" is relative to the current element:
//     with each /data/appointment/attendees,
//     /data/appointment/attendees/-/email is each attendee's email, and
//     /data/appointment/attendees/- the element itself. ("-" is RFC 6901's
//     "element after the last", which never refers to a value, so the form
//     is free for this use and still a valid pointer.)
//
// A field whose pointer finds nothing, or null, is null in the lead, never
// invented. Its value is converted by field: names, email, phone, address
// parts, ids, reason, form and currency are strings, trimmed (a number is
// taken as its literal text, so ids are copied digit for digit); message is
// kept verbatim; preferred_contact is lowercased; price_min and price_max
// are numbers (or numeric strings); bedrooms_min an integer; areas,
// office_ids and negotiator_ids an array of strings (or one string);
// marketing_consent, preapproved_mortgage and test booleans (also
// "true"/"false", "yes"/"no", 1/0). A value of the wrong type (an object
// for email, "many" for bedrooms_min) is an error, so the request is
// quarantined and can be replayed after the config is fixed.
//
// Some fields are interpreted:
//
//   - full_name, when not mapped, is first_name and last_name joined. It is
//     never split the other way.
//   - intent is mapped from common words (buy/buyer/purchase, sell/seller,
//     rent/tenant, let/landlord, valuation/appraisal); anything else, and
//     no intent field at all, is "other".
//   - action defaults to "created". A mapped value is matched whole, then
//     by its last segment after '.', ':', '/' or '_', against created
//     (create, new, added, registered, submitted, scheduled…), updated
//     (update, modified, changed, rescheduled, cancelled…) and deleted
//     (delete, removed); so /type works for "appointment.scheduled" and
//     "user.registered". A cancellation is an update, not a deletion of the
//     person. An unknown word is an error.
//   - entity (default "lead"), entity_id and customer_id fill the lead's
//     source block. The lead id (EntityKey) is keyed by entity_id, else by
//     the email lowercased, else by the event id (and element index): a
//     person who sends the form twice is one lead updated, as long as the
//     sender gives no id of its own. The customer id, when mapped, is part
//     of that key.
//   - event_type is the type when one is mapped, else "webhook".
//
// Explain maps a body without verifying it, for a dry run; Sample builds a
// body from the configured pointers and SignedRequest signs it, for
// send-test.
package generic
