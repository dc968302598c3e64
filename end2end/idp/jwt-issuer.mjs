// A real OpenID issuer on loopback for the JWT login tests: oauth2-mock-server
// (npm) publishes the discovery document and the signing keys (`/jwks`) and
// signs the tokens. Two test-only endpoints beside them:
//   POST /mint  {"claims": {...}, "header": {...}, "kid": "...", "expiresIn": 300}
//               -> a token signed by the key `kid` (the first key by default);
//               claims set to null are removed.
//   GET  /stats -> {"jwks": N, "kids": [...]}: how often the keys were fetched.
//   POST /id-claims {"claims": {...}} -> 204: claims set on every token the
//               OIDC endpoints sign from now on (an SSO test's user: sub,
//               preferred_username, groups; or a bad aud, iss, nonce, exp);
//               null removes a claim.
// Usage: node jwt-issuer.mjs PORT [ALG ...]   (default RS256; one key per ALG)
import http from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

const [port, ...algs] = process.argv.slice(2);
const issuer = new OAuth2Issuer();
issuer.url = `http://localhost:${port}`;
const kids = [];
for (const alg of algs.length ? algs : ['RS256']) kids.push((await issuer.keys.generate(alg)).kid);
const service = new OAuth2Service(issuer);
let jwks = 0;
let idClaims = {};
service.on('beforeTokenSigning', (token) => {
  for (const [k, v] of Object.entries(idClaims)) {
    if (v === null) delete token.payload[k];
    else token.payload[k] = v;
  }
});

const body = (req) =>
  new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => resolve(text ? JSON.parse(text) : {}));
    req.on('error', reject);
  });

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/mint') {
      const { claims = {}, header = {}, kid = kids[0], expiresIn = 300 } = await body(req);
      const token = await issuer.buildToken({
        kid,
        expiresIn,
        scopesOrTransform: (h, p) => {
          Object.assign(h, header);
          for (const [k, v] of Object.entries(claims)) {
            if (v === null) delete p[k];
            else p[k] = v;
          }
        },
      });
      res.end(token);
      return;
    }
    if (req.method === 'POST' && req.url === '/id-claims') {
      idClaims = (await body(req)).claims ?? {};
      res.statusCode = 204;
      res.end();
      return;
    }
    if (req.url === '/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jwks, kids }));
      return;
    }
    if (req.url === '/jwks') jwks += 1;
    service.requestHandler(req, res);
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
  }
});
server.listen(Number(port), 'localhost', () => console.log(`issuer ${issuer.url} ready`));
