import { z } from "zod";

/**
 * The largest integer every shipped store keeps in every integer column a client can fill:
 * PostgreSQL's `INTEGER` (`error_threshold`) stops here. Ids are wider (`BIGINT`, JSON text) and
 * stop at `Number.MAX_SAFE_INTEGER`, the largest integer JavaScript itself keeps exactly.
 */
export const MAX_STORED_INTEGER = 2_147_483_647;

/** With the `u` flag a well-formed pair is one code point, so this finds unpaired surrogates only. */
const LONE_SURROGATE = /\p{Cs}/u;

const NUL_MESSAGE = "must not contain the NUL character (U+0000)";
const LONE_SURROGATE_MESSAGE = "must not contain a lone UTF-16 surrogate";

/**
 * A string every store keeps exactly as given. PostgreSQL refuses NUL in text and in JSON; a lone
 * surrogate has no UTF-8 encoding, so each driver replaces it with something of its own. Refusing
 * both here keeps what is stored identical to what was accepted, on every store.
 */
export const storableText = () =>
  z
    .string()
    .refine((text) => !text.includes("\u0000"), NUL_MESSAGE)
    .refine((text) => !LONE_SURROGATE.test(text), LONE_SURROGATE_MESSAGE);
