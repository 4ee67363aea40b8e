export { main, COMMANDS } from './cli.js';
export { doctor, type DoctorReport } from './commands/doctor.js';
