-- lauxlib's luaL_argerror text for the library functions written in Lua.
--
-- Like the C original it names the function the way its caller called it (a global, a
-- field, a method, "?" when a C function such as pcall called it), which only the debug
-- library can tell.

local getinfo, sformat, tostring = debug.getinfo, string.format, tostring

local M = {}

-- The message for bad argument `narg` of the function `level` frames up from the caller of
-- argmsg (1: the caller itself).
function M.argmsg(level, narg, extra)
  local info = getinfo(level + 1, "n")
  local name, namewhat = nil, nil
  if info then
    name, namewhat = info.name, info.namewhat
  end
  if namewhat == "method" then
    narg = narg - 1
    if narg == 0 then
      return sformat("calling '%s' on bad self (%s)", tostring(name), extra)
    end
  end
  return sformat("bad argument #%d to '%s' (%s)", narg, name or "?", extra)
end

return M
