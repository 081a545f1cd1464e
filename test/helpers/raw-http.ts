import { request } from 'node:http'

/** A request with a Host header of the test's choosing (fetch always sends the URL's own). */
export async function requestWithHost (port: number, path: string, host: string, method = 'GET'): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}
