process.env.NODE_ENV = 'test'; process.env.LOG_LEVEL = 'warn'; process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/ops_smoke'
const { createApp } = await import('./src/app')
const on = createApp({ corsOrigins: [], metrics: { enabled: true } })
const off = createApp({ corsOrigins: [], metrics: { enabled: false } })
const N = 20000
async function run(app: any) {
  const t = performance.now()
  for (let i = 0; i < N; i++) { const r = await app.handle(new Request('http://localhost/health')); await r.text() }
  return ((performance.now() - t) * 1000) / N
}
for (let k = 0; k < 3; k++) console.log('on', (await run(on)).toFixed(1), 'off', (await run(off)).toFixed(1))
process.exit(0)
