/*
 * The data plane's per-packet cryptography as a Node-API addon (src/wire/native.ts loads it; each
 * user falls back to JavaScript when it was not built).
 *
 * The payload AEAD (docs/wire.md, "Sealed payloads"): AES-128-GCM through the OpenSSL that Node
 * itself carries. From JavaScript, node:crypto builds a cipher object per packet and costs 5-6 us
 * at 256 bytes, mostly in the binding; here each key keeps its OpenSSL contexts, and a packet
 * resets only the nonce.
 *
 * seal(key, buf, plainLength, seqOffset, aadLength, payloadOffset): encrypts
 * buf[payloadOffset, +plainLength) in place and writes the 16-byte tag after it. The nonce is four
 * zero bytes and buf[seqOffset, +8); the associated data is buf[0, aadLength).
 * open(key, buf, sealedLength, seqOffset, aadLength, payloadOffset): true and the plaintext in
 * place when it authenticates, else false with buf untouched.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LENGTH 16
#define KEY_LENGTH 16
#define SCRATCH 2048

typedef struct {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
} AeadKey;

static void key_free (napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  AeadKey *k = (AeadKey *)data;
  EVP_CIPHER_CTX_free(k->enc);
  EVP_CIPHER_CTX_free(k->dec);
  free(k);
}

static napi_value throw_error (napi_env env, const char *msg) {
  napi_throw_error(env, "RM_ERR_CONFIG", msg);
  return NULL;
}

/* newKey(key: Buffer of 16 bytes) -> external */
static napi_value new_key (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return throw_error(env, "newKey(key) needs a key");
  void *raw; size_t len;
  if (napi_get_buffer_info(env, argv[0], &raw, &len) != napi_ok || len != KEY_LENGTH) return throw_error(env, "the payload key must be a 16-byte Buffer");
  AeadKey *k = (AeadKey *)calloc(1, sizeof(AeadKey));
  if (k == NULL) return throw_error(env, "out of memory");
  k->enc = EVP_CIPHER_CTX_new();
  k->dec = EVP_CIPHER_CTX_new();
  if (k->enc == NULL || k->dec == NULL ||
      EVP_EncryptInit_ex(k->enc, EVP_aes_128_gcm(), NULL, (const unsigned char *)raw, NULL) != 1 ||
      EVP_DecryptInit_ex(k->dec, EVP_aes_128_gcm(), NULL, (const unsigned char *)raw, NULL) != 1) {
    key_free(env, k, NULL);
    return throw_error(env, "OpenSSL could not set up AES-128-GCM");
  }
  napi_value out;
  if (napi_create_external(env, k, key_free, NULL, &out) != napi_ok) { key_free(env, k, NULL); return throw_error(env, "could not wrap the key"); }
  return out;
}

typedef struct {
  AeadKey *key;
  unsigned char *buf;
  size_t bufLength;
  uint32_t length, seqOffset, aadLength, payloadOffset;
} Args;

static int read_args (napi_env env, napi_callback_info info, Args *a) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return 0;
  void *k; void *b;
  if (napi_get_value_external(env, argv[0], &k) != napi_ok) return 0;
  if (napi_get_buffer_info(env, argv[1], &b, &a->bufLength) != napi_ok) return 0;
  if (napi_get_value_uint32(env, argv[2], &a->length) != napi_ok) return 0;
  if (napi_get_value_uint32(env, argv[3], &a->seqOffset) != napi_ok) return 0;
  if (napi_get_value_uint32(env, argv[4], &a->aadLength) != napi_ok) return 0;
  if (napi_get_value_uint32(env, argv[5], &a->payloadOffset) != napi_ok) return 0;
  a->key = (AeadKey *)k;
  a->buf = (unsigned char *)b;
  if ((size_t)a->seqOffset + 8 > a->bufLength || a->aadLength > a->bufLength || (size_t)a->payloadOffset + a->length > a->bufLength) return 0;
  return 1;
}

static void nonce_of (const Args *a, unsigned char iv[12]) {
  memset(iv, 0, 4);
  memcpy(iv + 4, a->buf + a->seqOffset, 8);
}

static napi_value seal (napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a) || (size_t)a.payloadOffset + a.length + TAG_LENGTH > a.bufLength) return throw_error(env, "seal: bad arguments or the buffer has no room for the tag");
  unsigned char iv[12];
  nonce_of(&a, iv);
  EVP_CIPHER_CTX *c = a.key->enc;
  int n = 0;
  unsigned char *p = a.buf + a.payloadOffset;
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
      EVP_EncryptUpdate(c, NULL, &n, a.buf, (int)a.aadLength) != 1 ||
      EVP_EncryptUpdate(c, p, &n, p, (int)a.length) != 1 ||
      EVP_EncryptFinal_ex(c, p + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LENGTH, p + a.length) != 1) return throw_error(env, "seal: OpenSSL failed");
  return NULL;
}

static napi_value open_ (napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a)) return throw_error(env, "open: bad arguments");
  napi_value result;
  if (a.length < TAG_LENGTH) { napi_get_boolean(env, false, &result); return result; }
  uint32_t plain = a.length - TAG_LENGTH;
  unsigned char iv[12];
  nonce_of(&a, iv);
  unsigned char stack[SCRATCH];
  unsigned char *out = plain <= SCRATCH ? stack : (unsigned char *)malloc(plain);
  if (out == NULL) return throw_error(env, "out of memory");
  EVP_CIPHER_CTX *c = a.key->dec;
  unsigned char *p = a.buf + a.payloadOffset;
  int n = 0;
  int ok = EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) == 1 &&
    EVP_DecryptUpdate(c, NULL, &n, a.buf, (int)a.aadLength) == 1 &&
    EVP_DecryptUpdate(c, out, &n, p, (int)plain) == 1 &&
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LENGTH, p + plain) == 1 &&
    EVP_DecryptFinal_ex(c, out + n, &n) == 1;
  if (ok) memcpy(p, out, plain);
  if (out != stack) free(out);
  napi_get_boolean(env, ok, &result);
  return result;
}

/*
 * The link tag (docs/wire.md): SipHash-2-4 with a 128-bit output over buf[0, end), under the key
 * that src/wire/siphash.ts keeps as four little-endian 32-bit words. linkTag(key, buf, end, check)
 * writes the tag at buf[end, end + 16), or with `check` compares it with what is there. The same
 * function as siphash.ts, which stays the fallback; test/unit/wire-codec.test.ts checks the two
 * against each other.
 */
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND do { \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
  } while (0)

static uint64_t load_le64 (const unsigned char *p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--) x = (x << 8) | p[i];
  return x;
}

static void store_le64 (unsigned char *p, uint64_t x) {
  for (int i = 0; i < 8; i++) { p[i] = (unsigned char)x; x >>= 8; }
}

static void siphash128 (uint64_t k0, uint64_t k1, const unsigned char *in, size_t len, unsigned char out[16]) {
  uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
  uint64_t v1 = k1 ^ 0x646f72616e646f6dULL ^ 0xee;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
  uint64_t v3 = k1 ^ 0x7465646279746573ULL;
  size_t whole = len - (len & 7);
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = load_le64(in + i);
    v3 ^= m;
    SIP_ROUND; SIP_ROUND;
    v0 ^= m;
  }
  uint64_t last = (uint64_t)len << 56;
  for (size_t i = 0; i < (len & 7); i++) last |= (uint64_t)in[whole + i] << (8 * i);
  v3 ^= last;
  SIP_ROUND; SIP_ROUND;
  v0 ^= last;
  v2 ^= 0xee;
  SIP_ROUND; SIP_ROUND; SIP_ROUND; SIP_ROUND;
  store_le64(out, v0 ^ v1 ^ v2 ^ v3);
  v1 ^= 0xdd;
  SIP_ROUND; SIP_ROUND; SIP_ROUND; SIP_ROUND;
  store_le64(out + 8, v0 ^ v1 ^ v2 ^ v3);
}

static napi_value link_tag (napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_typedarray_type type;
  napi_typedarray_type bufType;
  size_t words;
  void *key;
  void *b;
  size_t bufLength;
  uint32_t end;
  bool check;
  napi_value result;
  /* Any Uint8Array (a Buffer is one); the data pointer already counts its byte offset. */
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_typedarray_info(env, argv[0], &type, &words, &key, NULL, NULL) != napi_ok || type != napi_int32_array || words != 4 ||
      napi_get_typedarray_info(env, argv[1], &bufType, &bufLength, &b, NULL, NULL) != napi_ok || bufType != napi_uint8_array ||
      napi_get_value_uint32(env, argv[2], &end) != napi_ok ||
      napi_get_value_bool(env, argv[3], &check) != napi_ok) return throw_error(env, "linkTag: bad arguments");
  if ((size_t)end + 16 > bufLength) {
    /* A datagram too short to hold its tag fails the check; writing past the end is a bug. */
    if (!check) return throw_error(env, "linkTag: the buffer has no room for the tag");
    napi_get_boolean(env, false, &result);
    return result;
  }
  const uint32_t *w = (const uint32_t *)key;
  unsigned char *buf = (unsigned char *)b;
  unsigned char tag[16];
  siphash128(((uint64_t)w[1] << 32) | w[0], ((uint64_t)w[3] << 32) | w[2], buf, end, tag);
  bool ok = true;
  if (check) {
    unsigned char diff = 0;
    for (int i = 0; i < 16; i++) diff |= (unsigned char)(tag[i] ^ buf[end + i]);
    ok = diff == 0;
  } else {
    memcpy(buf + end, tag, 16);
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value init (napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "newKey", NULL, new_key, NULL, NULL, NULL, napi_default, NULL },
    { "seal", NULL, seal, NULL, NULL, NULL, napi_default, NULL },
    { "open", NULL, open_, NULL, NULL, NULL, napi_default, NULL },
    { "linkTag", NULL, link_tag, NULL, NULL, NULL, napi_default, NULL }
  };
  napi_define_properties(env, exports, 4, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
